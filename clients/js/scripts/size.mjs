// Prints the package's size as a bundler would ship it: index.js minified
// by esbuild, and that gzipped.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { transform } from 'esbuild';

const source = readFileSync(new URL('../index.js', import.meta.url), 'utf8');
const { code } = await transform(source, { minify: true, format: 'esm', target: 'es2020' });
const gzip = gzipSync(code, { level: 9 }).length;
console.log(`index.js: ${source.length} B source, ${code.length} B minified, ${gzip} B minified+gzip`);
