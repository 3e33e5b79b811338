/**
 * `npm run parity -- FILE.json …`: check the engine's DNC and memory against pytorch-dnc fixtures
 * (see engine/parity/run-parity.ts). Exit code 0 = parity, 1 = error above 1e-4, 2 = bad file or arguments.
 */
import { releaseBackend, selectBackend } from '../backend';
import { runParity } from '../parity/run-parity';

async function main(): Promise<void> {
  await selectBackend();
  process.exitCode = await runParity(process.argv.slice(2));
}

main()
  .catch((error: unknown) => {
    console.error(`parity: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  })
  .finally(releaseBackend);
