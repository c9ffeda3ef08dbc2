import { readFileSync } from 'node:fs';

/** Bulwark's version, from package.json (dist/src/common → the package root). */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
