// The schemas' one zod: the tree-shakable `zod/mini` build (about 40 KB in a bundle where the chained API weighs
// about 100 KB, every schema type's methods and its JSON Schema converter included). Mini ships no messages of its
// own: English, as clients read them in the error shape's `details`.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
