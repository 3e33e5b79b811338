/**
 * The external source: a run fed by a client (a PyTorch loop, `train --stream`, curl). The client streams metrics
 * and frames, and asks before each iteration whether it may go on; this source answers from the controls the
 * browser sent. "step n" grants exactly n more iterations, one per wait; pause makes the next wait block.
 *
 * Liveness: a client is connected while it holds a socket or a wait open, or called within `clientTimeoutMs`.
 * When it goes silent the run becomes `interrupted` (its history stays); its next call continues the run.
 */
import { ApiError } from './errors';
import type { ExternalClientInfo, ExternalControl, RunState } from './protocol';
import type { ControlState, WaitReply } from './protocol/ingest';
import type { RunSink, RunSource } from './run-source';
import type { WorkerCommand } from './worker/messages';

export interface ExternalSourceOptions {
  runId: string;
  controls: ExternalControl[];
  clientTimeoutMs: number;
  /** A new run's client is connected (it just created the run); a restored run's is not until it calls. */
  connected: boolean;
  /** Start paused (a restored run that was paused). */
  paused: boolean;
}

interface Waiter {
  timer: NodeJS.Timeout;
  /** A control changed: decide again (grant, stop, or wait on). */
  wake: () => void;
  /** Answer for good (timeout, cancel, shutdown). */
  finish: (reply: WaitReply) => void;
}

export type ControlListener = (control: ControlState) => void;

export class ExternalSource implements RunSource {
  readonly kind = 'external';
  private mode: 'running' | 'paused' | 'stopped' | 'ended';
  /** Iterations still granted by a step command. */
  private allowance = 0;
  private lr: number | null = null;
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<ControlListener>();
  private connected: boolean;
  private lastSeen: number | null;
  private controls: ExternalControl[];
  private livenessTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: ExternalSourceOptions,
    private readonly sink: RunSink,
    /** The run's current state, owned by the run manager. */
    private readonly runState: () => RunState,
  ) {
    this.mode = options.paused ? 'paused' : 'running';
    this.connected = options.connected;
    this.lastSeen = options.connected ? Date.now() : null;
    this.controls = [...options.controls];
    if (options.connected) this.armLiveness(options.clientTimeoutMs);
  }

  info(): ExternalClientInfo {
    return {
      connected: this.connected,
      lastSeen: this.lastSeen,
      waiting: this.waiters.size > 0,
      controls: [...this.controls],
    };
  }

  /** What the client should do now. */
  control(): ControlState {
    const state = this.runState();
    const over = this.mode === 'stopped' || this.mode === 'ended' || ['stopped', 'finished', 'failed'].includes(state);
    return { action: over ? 'stop' : this.mode === 'running' ? 'run' : 'wait', state, lr: this.lr };
  }

  /** The client called: it is connected, and an interrupted run continues. */
  touch(controls?: ExternalControl[]): void {
    this.lastSeen = Date.now();
    if (controls !== undefined) this.controls = [...controls];
    // A pending check measures the silence from lastSeen when it fires, so a client calling hundreds of times a
    // second needs no new timer per call.
    if (this.livenessTimer === null) this.armLiveness(this.options.clientTimeoutMs);
    if (this.connected) return;
    this.connected = true;
    if (this.runState() === 'interrupted') this.sink.state(this.mode === 'paused' ? 'paused' : 'running', null);
    this.sink.changed();
  }

  /** Keep the client connected while `listener` (its socket) lives; returns the detach function. */
  attach(listener: ControlListener): () => void {
    this.listeners.add(listener);
    this.touch();
    return () => {
      this.listeners.delete(listener);
      this.touch(); // silence is counted from the moment the socket went away
    };
  }

  /**
   * Resolve when the client may run one more iteration (`go: true`), when it must stop, or after `timeoutMs`
   * (`go: false`: ask again). `cancel` lets the transport drop a wait whose client went away.
   */
  wait(timeoutMs: number): { reply: Promise<WaitReply>; cancel: () => void } {
    this.touch();
    let current: Waiter | null = null;
    let cancelled = false;
    const reply = new Promise<WaitReply>((resolve) => {
      const evaluate = () => {
        const control = this.control();
        if (control.action === 'stop') return resolve({ go: false, control });
        if (this.mode === 'running') return resolve({ go: true, control });
        if (this.allowance > 0) {
          this.allowance -= 1;
          return resolve({ go: true, control: this.control() });
        }
        // Nothing granted: a step that was running is over.
        if (this.runState() === 'running') this.sink.state('paused', null);
        if (cancelled) return resolve({ go: false, control: this.control() });
        const waiter: Waiter = {
          timer: setTimeout(() => this.dropWaiter(waiter, { go: false, control: this.control() }), timeoutMs),
          wake: evaluate,
          finish: resolve,
        };
        current = waiter;
        this.addWaiter(waiter);
      };
      evaluate();
    });
    const cancel = () => {
      cancelled = true;
      if (current !== null) this.dropWaiter(current, { go: false, control: this.control() });
    };
    return { reply, cancel };
  }

  command(command: WorkerCommand): Promise<void> {
    switch (command.command) {
      case 'pause':
        this.require('pause');
        this.mode = 'paused';
        this.allowance = 0;
        this.sink.state('paused', null);
        break;
      case 'resume':
        this.require('pause');
        this.requireConnected('resume');
        this.mode = 'running';
        this.allowance = 0;
        this.sink.state('running', null);
        break;
      case 'step':
        this.require('step');
        this.requireConnected('step');
        this.mode = 'paused';
        this.allowance = command.n;
        this.sink.state('running', null);
        break;
      case 'stop':
        this.mode = 'stopped';
        this.allowance = 0;
        this.sink.state('stopped', null);
        break;
      case 'configure':
        if (command.summarizeFreq !== undefined)
          throw new ApiError(
            'invalid_state',
            `run ${this.options.runId} is external: its client chooses when to send frames`,
          );
        if (command.lr !== undefined) {
          this.require('lr');
          this.lr = command.lr;
        }
        break;
      case 'capture':
        throw new ApiError(
          'invalid_state',
          `run ${this.options.runId} is external: its client does not capture on demand`,
        );
      case 'checkpoint':
        return Promise.resolve();
    }
    this.notify();
    return Promise.resolve();
  }

  /** The client closed the run cleanly: nothing more to grant. */
  end(): void {
    this.mode = 'ended';
    this.allowance = 0;
    this.notify();
  }

  frameConsumed(): void {}

  async close(): Promise<void> {
    if (this.livenessTimer !== null) clearTimeout(this.livenessTimer);
    this.livenessTimer = null;
    for (const waiter of [...this.waiters]) this.dropWaiter(waiter, { go: false, control: this.control() });
  }

  private require(control: ExternalControl): void {
    if (!this.controls.includes(control)) {
      throw new ApiError(
        'invalid_state',
        `the external client of run ${this.options.runId} does not honour ${control} ` +
          `(it honours ${this.controls.length === 0 ? 'no controls' : this.controls.join(', ')})`,
      );
    }
  }

  private requireConnected(command: string): void {
    if (!this.connected)
      throw new ApiError(
        'invalid_state',
        `cannot ${command} run ${this.options.runId}: its external client is not connected ` +
          '(the run continues when the client calls again)',
      );
  }

  /** Wake every waiter (each re-evaluates) and push the new control to attached sockets. */
  private notify(): void {
    for (const waiter of [...this.waiters]) {
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.wake();
    }
    this.sink.changed();
    const control = this.control();
    for (const listener of this.listeners) listener(control);
  }

  private addWaiter(waiter: Waiter): void {
    this.waiters.add(waiter);
    if (this.waiters.size === 1) this.sink.changed();
  }

  private dropWaiter(waiter: Waiter, reply: WaitReply): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    this.lastSeen = Date.now();
    this.armLiveness(this.options.clientTimeoutMs);
    if (this.waiters.size === 0) this.sink.changed();
    waiter.finish(reply);
  }

  private armLiveness(ms: number): void {
    if (this.livenessTimer !== null) clearTimeout(this.livenessTimer);
    this.livenessTimer = setTimeout(() => this.checkLiveness(), ms);
    this.livenessTimer.unref();
  }

  private checkLiveness(): void {
    this.livenessTimer = null;
    if (!this.connected) return;
    if (this.listeners.size > 0 || this.waiters.size > 0) {
      this.armLiveness(this.options.clientTimeoutMs);
      return;
    }
    const silentFor = Date.now() - (this.lastSeen ?? 0);
    if (silentFor < this.options.clientTimeoutMs) {
      this.armLiveness(this.options.clientTimeoutMs - silentFor);
      return;
    }
    this.connected = false;
    this.sink.gone(`the external client has not called for ${silentFor} ms`, 'interrupted');
    this.sink.changed();
  }
}
