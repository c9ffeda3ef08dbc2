/**
 * A password a provider file names but never holds: `password_env` (a variable of Bulwark's
 * environment) or `password_file` (a file holding it). Read each time a connection opens, so a rotated
 * secret needs no restart and none sits in a long-lived object. Shared by the database and redis plugins.
 */
import { readFile } from 'node:fs/promises';

export interface PasswordSource {
  password_env?: string;
  password_file?: string;
}

/** Each plugin words the failures for its own config (which server or instance, what to do). */
export interface PasswordProblems {
  envUnset(variable: string): Error;
  fileUnreadable(path: string, code: string): Error;
}

/** The password, read now, or undefined when none is configured. Errors name the variable or file, never what it holds. */
export async function readPasswordFrom(source: PasswordSource, problems: PasswordProblems): Promise<string | undefined> {
  if (source.password_env !== undefined) {
    const value = process.env[source.password_env];
    if (value === undefined || value === '') throw problems.envUnset(source.password_env);
    return value;
  }
  if (source.password_file !== undefined) {
    let text: string;
    try {
      text = await readFile(source.password_file, 'utf8');
    } catch (err) {
      throw problems.fileUnreadable(source.password_file, String((err as { code?: unknown }).code ?? 'error'));
    }
    // Files written with `echo` end in a newline that is not part of the password.
    return text.replace(/\r?\n$/, '');
  }
  return undefined;
}
