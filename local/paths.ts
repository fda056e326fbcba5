import { resolve } from 'node:path';

/** The repository root, for the local runtime's files (`.local/`, function entries). */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
