/** `pnpm lab`: start the five servers and the race page; Ctrl+C stops them all. */
import { describeModel } from '@gtp/core';
import { startLab } from './lab.ts';

const lab = await startLab();
for (const [protocol, address] of Object.entries(lab.addresses))
  console.log(`${protocol.padEnd(16)} ${address}`);
console.log(`model: ${describeModel(lab.model)}`);
console.log(`\nthe race: ${lab.url}/lab`);
let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    console.log(`${signal}: stopping the lab…`);
    void lab.close().then(() => process.exit(0));
  });
}
