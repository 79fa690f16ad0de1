/**
 * Builds models/greedy-decoder: an RNN language model's greedy decoding loop, the classic use of
 * tf.while_loop. From a start token it feeds each step's arg-max token back in until it emits the
 * end token (0) or `maxLength` tokens, so the output's length is known only at run time. Weights
 * are fixed and seeded. Rebuild: `node scripts/ts-run.js models/greedy-decoder/build.ts`; run it:
 * `graphc run models/greedy-decoder/model.json --feeds models/greedy-decoder/feeds.json`.
 */
import * as path from 'path';
import * as fs from 'fs';
import { Graph, Session, SymbolicTensor, ops, saveModel, tensor, tensorToJson } from 'graphc';
import { seeded } from '../seeded';

const VOCAB = 12;
const EMBED = 8;
const HIDDEN = 16;
const END = 0;


export async function buildGreedyDecoder(outDir: string): Promise<void> {
  const g = new Graph();
  const start = g.placeholder('int32', [], 'start');
  const maxLength = g.placeholder('int32', [], 'maxLength');
  const embedding = g.variable(tensor(seeded(VOCAB * EMBED, 11, 1), [VOCAB, EMBED]), 'embedding');
  const Wx = g.variable(tensor(seeded(EMBED * HIDDEN, 12, 0.6), [EMBED, HIDDEN]), 'rnn/Wx');
  const Wh = g.variable(tensor(seeded(HIDDEN * HIDDEN, 13, 0.4), [HIDDEN, HIDDEN]), 'rnn/Wh');
  const b = g.variable(tensor(seeded(HIDDEN, 14, 0.1), [HIDDEN]), 'rnn/b');
  const Wo = g.variable(tensor(seeded(HIDDEN * VOCAB, 15, 1), [HIDDEN, VOCAB]), 'out/W');

  /** One decoding step: the next hidden state and the most likely next token. */
  const step = (token: SymbolicTensor, h: SymbolicTensor): { next: SymbolicTensor; token: SymbolicTensor } => {
    const x = ops.gather(embedding, ops.reshape(token, [1])); // [1, EMBED]
    const next = ops.tanh(ops.add(ops.add(ops.matmul(x, Wx), ops.matmul(h, Wh)), b));
    const best = ops.cast(ops.argMax(ops.matmul(next, Wo), 1), 'int32'); // [1]
    return { next, token: ops.reshape(best, []) };
  };

  const [length, , , tokens] = ops.whileLoop(
    (n, token) => ops.logicalAnd(ops.less(n, maxLength), ops.notEqual(token, END)),
    (n, token, h, out) => {
      const s = step(token, h);
      return [ops.add(n, 1), s.token, s.next, ops.concat([out, ops.reshape(s.token, [1])], 0)];
    },
    [g.constant(0, 'length0', 'int32'), start, g.constant(tensor(new Float32Array(HIDDEN), [1, HIDDEN]), 'h0'), g.constant(tensor([], [0], 'int32'), 'tokens0')],
    { name: 'decode' },
  );
  const outTokens = ops.identity(tokens, 'tokens');
  const outLength = ops.identity(length, 'length');
  g.metadata.signature = { inputs: ['start', 'maxLength'], outputs: [outTokens.name, outLength.name] };
  const sess = new Session(g);
  await sess.run(g.globalVariablesInitializer());
  await saveModel(g, path.join(outDir, 'model.json'), { session: sess });
  const feeds = { start: tensorToJson(tensor([2], [], 'int32')), maxLength: tensorToJson(tensor([20], [], 'int32')) };
  fs.writeFileSync(path.join(outDir, 'feeds.json'), `${JSON.stringify(feeds)}\n`);
}

if (require.main === module) buildGreedyDecoder(__dirname).catch((e) => {
  console.error(e);
  process.exit(1);
});
