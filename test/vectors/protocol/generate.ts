// Writes test/vectors/protocol/vectors.json: `npm run vectors`. Run it only
// when the protocol changes on purpose; protocol/vectors.test.ts then checks
// the code against the file byte for byte.
import { writeFileSync } from 'node:fs';
import { buildVectors, randomizedParts } from './build.ts';

const vectors = await buildVectors(await randomizedParts());
const path = new URL('vectors.json', import.meta.url);
writeFileSync(path, `${JSON.stringify(vectors, null, 2)}\n`);
process.stdout.write(`wrote ${path.pathname}\n`);
