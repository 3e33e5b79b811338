'use client';
/** The new-run form: defaults that stay lively on a small CPU, inline errors per field (client checks first, then the
 *  server's `bad_request` message routed to the field it names). Opens the run on success. */
import { useState, type FormEvent } from 'react';
import { command } from '../live/commands';
import {
  DEFAULT_RUN_FORM,
  fieldOfServerError,
  parseRunForm,
  RUN_FORM_FIELDS,
  type RunFormValues,
} from '../lib/run-form';
import { useDashboardStore } from '../state/StoreProvider';

export function NewRunForm({ onCreated }: { onCreated: (runId: string) => void }) {
  const [values, setValues] = useState<RunFormValues>(DEFAULT_RUN_FORM);
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const upsertRun = useDashboardStore((s) => s.upsertRun);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const parsed = parseRunForm(values);
    setErrors(parsed.errors);
    setFormError(null);
    if (Object.keys(parsed.errors).length > 0) return;
    setBusy(true);
    const res = await command('run:create', { config: parsed.config, ...(name.trim() ? { name: name.trim() } : {}) });
    setBusy(false);
    if (res.ok) {
      upsertRun(res.data);
      onCreated(res.data.id);
      return;
    }
    const field = res.error.code === 'bad_request' ? fieldOfServerError(res.error.message) : null;
    if (field) setErrors({ [field]: res.error.message });
    else setFormError(res.error.message);
  };

  return (
    <form className="new-run" onSubmit={submit} noValidate data-testid="new-run-form">
      <div className="form-title">New run</div>
      <label className="field field-wide">
        <span>Name</span>
        <input value={name} placeholder="optional" onChange={(e) => setName(e.target.value)} data-testid="field-name" />
      </label>
      {RUN_FORM_FIELDS.map((f) => (
        // biome-ignore lint/a11y/noLabelWithoutControl: the control (select or input) is chosen below, inside the label
        <label key={f.key} className={`field${errors[f.key] ? ' field-bad' : ''}`}>
          <span>
            {f.label}
            {f.kind !== 'choice' && f.hint ? <em>{f.hint}</em> : null}
          </span>
          {f.kind === 'choice' ? (
            <select
              value={values[f.key]}
              onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
              data-testid={`field-${f.key}`}
              name={f.key}
            >
              {f.options.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          ) : (
            <input
              value={values[f.key]}
              inputMode={f.kind === 'int' ? 'numeric' : 'decimal'}
              onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
              aria-invalid={errors[f.key] ? true : undefined}
              aria-describedby={errors[f.key] ? `error-${f.key}` : undefined}
              data-testid={`field-${f.key}`}
              name={f.key}
            />
          )}
          {errors[f.key] ? (
            <small className="field-error" id={`error-${f.key}`} role="alert" data-testid={`error-${f.key}`}>
              {errors[f.key]}
            </small>
          ) : null}
        </label>
      ))}
      <div className="form-actions">
        {formError ? (
          <small className="field-error" role="alert" data-testid="form-error">
            {formError}
          </small>
        ) : null}
        <button
          type="button"
          className="btn"
          onClick={() => {
            setValues(DEFAULT_RUN_FORM);
            setErrors({});
            setFormError(null);
          }}
        >
          defaults
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="start-run">
          {busy ? 'starting…' : 'Start run'}
        </button>
      </div>
    </form>
  );
}
