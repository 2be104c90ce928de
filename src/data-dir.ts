// Makes sure EXTREPO_DATA_DIR exists and is writable before any store opens it, so a wrong path
// fails at once with the setting's name. Node's own mkdir({ recursive: true }) never returns for a
// path that cannot exist under /proc (it loops on ENOENT), which is how EXTREPO_DATA_DIR=/proc/nope
// used to hang the start without a word: directories are created one level at a time here.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StartupError } from './startup-errors.js';

async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
  }
  await makeDirectory(path.dirname(dir));
  try {
    await mkdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** Creates the data dir if needed and proves it writable; throws a StartupError naming EXTREPO_DATA_DIR. */
export async function prepareDataDir(dir: string): Promise<void> {
  const setting = `EXTREPO_DATA_DIR=${dir}`;
  try {
    await makeDirectory(dir);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const why = code === 'EACCES' || code === 'EPERM' ? `no permission for user ${currentUser()}` : message;
    throw new StartupError(
      `${setting}: the directory cannot be created (${why}): choose a directory this user can create and write, such as /var/lib/extrepo`,
    );
  }
  if (!(await stat(dir)).isDirectory()) {
    throw new StartupError(`${setting}: this is a file, not a directory: point EXTREPO_DATA_DIR at a directory`);
  }
  const probe = path.join(dir, `.write-test-${process.pid}`);
  try {
    await writeFile(probe, '');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const why =
      code === 'EACCES' || code === 'EPERM' ? `user ${currentUser()} may not write there` : code === 'EROFS' ? 'read-only file system' : message;
    throw new StartupError(`${setting}: the directory is not writable (${why}): fix its owner or permissions, or choose another EXTREPO_DATA_DIR`);
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}
