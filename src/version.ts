// extrepo's own version, from package.json: shown by /healthz, extrepo_build_info and the API document.
// The file is one level above both src/ (tsx) and dist/ (the compiled build), so one URL serves both.
import { readFileSync } from 'node:fs';

export const EXTREPO_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
