import { SoftmaxCrossEntropy } from '@octet/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineTfjsKernel } from '../base.js';

/** logsumexp(row) - row[target]; targets are not range-checked (that would need a read back to the host). */
export const softmaxCrossEntropyConfig = defineTfjsKernel(SoftmaxCrossEntropy, ({ inputs: { logits, targets }, backend }) => {
  const [rows, vocab] = logits.shape as [number, number];
  return backend.run('float32', () => {
    const x = backend.handle(logits);
    const max = tf.max(x, 1, true);
    const logSumExp = tf.add(tf.log(tf.sum(tf.exp(tf.sub(x, max)), 1)), tf.reshape(max, [rows]));
    // Picks row r's target logit out of the flat logits: index r · vocab + target.
    const flat = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32')), tf.reshape(backend.handle(targets), [rows]));
    return tf.sub(logSumExp, tf.gather(tf.reshape(x, [-1]), flat));
  }, [rows]);
});
