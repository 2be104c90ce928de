// Writes a .br and a .gz beside every compressible file of the built console (npm run
// build:console), at the highest levels: they are made once at install and served as they are by
// @fastify/static (preCompressed), so the server never compresses on the fly.
import { createReadStream, createWriteStream, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

const COMPRESSIBLE = /\.(js|css|html|svg|json|txt|map)$/;
const MIN_BYTES = 1024;

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/compress-console.mjs <dir>');
  process.exit(2);
}
const files = filesUnder(dir).filter((file) => COMPRESSIBLE.test(file) && statSync(file).size >= MIN_BYTES);
await Promise.all(
  files.flatMap((file) => [
    pipeline(
      createReadStream(file),
      zlib.createBrotliCompress({
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: statSync(file).size },
      }),
      createWriteStream(`${file}.br`),
    ),
    pipeline(createReadStream(file), zlib.createGzip({ level: 9 }), createWriteStream(`${file}.gz`)),
  ]),
);
console.log(`compressed ${files.length} files under ${dir} (brotli and gzip)`);
