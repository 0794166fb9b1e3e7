// The dashboard's chart data (ui/src/components/curves.ts): training and validation points merged by
// step in one x array, the same step arriving twice kept once, whatever the order of the sources.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Curves } from '../../ui/src/components/curves.ts';

test('train and validation points align on one step axis with gaps as null', () => {
  const curves = new Curves();
  curves.addEventData({ step: 1, train_loss: 6.3, learning_rate: 0.005 });
  curves.addEventData({ step: 2, train_loss: 5.6, learning_rate: 0.005 });
  curves.addEventData({ step: 2, valid_loss: 4.9 });
  curves.addEventData({ step: 3, train_loss: 4.4, learning_rate: 0.004 });
  assert.deepEqual(curves.aligned(), {
    steps: [1, 2, 3],
    trainLoss: [6.3, 5.6, 4.4],
    validationLoss: [null, 4.9, null],
    learningRate: [0.005, 0.005, 0.004],
  });
});

test('a replayed stream and the /metrics series give the same curves once', () => {
  const fromEvents = new Curves();
  const fromBoth = new Curves();
  const events = [
    { step: 2, train_loss: 1.5, learning_rate: 0.1 },
    { step: 1, train_loss: 2.5, learning_rate: 0.1 },
    { step: 2, valid_loss: 1.9, valid_perplexity: 6.7 },
    { step: 'x', train_loss: 9 }, // not a step: ignored
    { message: 'Checkpoint created' },
  ];
  for (const e of events) fromEvents.addEventData(e);
  fromBoth.addTrain({ step: 1, loss: 2.5, learning_rate: 0.1 });
  fromBoth.addTrain({ step: 2, loss: 1.5, learning_rate: 0.1 });
  fromBoth.addValidation({ step: 2, loss: 1.9 });
  for (const e of [...events, ...events]) fromBoth.addEventData(e);
  assert.deepEqual(fromBoth.aligned(), fromEvents.aligned());
  assert.deepEqual(fromBoth.aligned().steps, [1, 2]);
});
