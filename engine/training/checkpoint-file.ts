/**
 * Checkpoint files at the edge of the engine: atomic writes (temp file in the same directory, fsync, rename,
 * fsync of the directory) so that a crash mid-write leaves the previous checkpoint intact, and reads that turn
 * a missing or unreadable file into an error naming the path. The bytes are produced and checked by
 * `checkpoint-format.ts`.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Write `bytes` to `path` atomically: readers see either the old file or the complete new one. */
export async function saveCheckpointFile(path: string, bytes: Uint8Array): Promise<void> {
  const directory = dirname(path);
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const handle = await open(temporary, 'w', 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new Error(`saveCheckpointFile(${path}): ${error instanceof Error ? error.message : String(error)}`);
  }
  // Persist the rename itself; some filesystems refuse to fsync a directory, which is harmless to skip.
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    return;
  }
}

/** Read a checkpoint file's bytes; a missing or unreadable file throws an error naming the path. */
export async function loadCheckpointFile(path: string): Promise<Uint8Array> {
  try {
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
    if (code === 'ENOENT') throw new Error(`loadCheckpointFile: no checkpoint at ${path}`);
    if (code === 'EISDIR') throw new Error(`loadCheckpointFile: ${path} is a directory, not a checkpoint file`);
    throw new Error(`loadCheckpointFile(${path}): ${error instanceof Error ? error.message : String(error)}`);
  }
}
