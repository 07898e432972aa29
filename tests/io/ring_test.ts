import assert from "node:assert/strict";
import { createRing, ringBytes, RingConsumer, RingProducer } from "../../io/ring/spsc_ring.ts";
import { Rng } from "../../lib/rng.ts";
import { crossings } from "../../hw/crossings.ts";

function pair(capacity: number, entryWords = 2, initialCounter = 0) {
  const buffer = createRing({ capacity, entryWords }, { initialCounter });
  return { buffer, producer: new RingProducer(buffer), consumer: new RingConsumer(buffer) };
}

function push(producer: RingProducer, value: number): boolean {
  return producer.tryPush((words, offset) => {
    words[offset] = value;
    words[offset + 1] = ~value;
  });
}

function pop(consumer: RingConsumer): number | undefined {
  if (consumer.peek(1) === 0) return undefined;
  const offset = consumer.entry(0);
  const value = consumer.words[offset]!;
  assert.equal(consumer.words[offset + 1], ~value, "the entry's second word came with the first");
  consumer.release(1);
  return value;
}

Deno.test("a ring refuses a capacity that is not a power of two and an odd entry size", () => {
  assert.throws(() => createRing({ capacity: 12, entryWords: 2 }), /power of two: got 12/);
  assert.throws(() => createRing({ capacity: 1, entryWords: 2 }), /capacity must be 2 to/);
  assert.throws(() => createRing({ capacity: 8, entryWords: 3 }), /even number >= 2: got 3/);
  assert.throws(() => new RingConsumer(new SharedArrayBuffer(256)), /Not a ring: magic 0/);
  assert.equal(ringBytes({ capacity: 8, entryWords: 4 }), 192 + 8 * 16);
});

Deno.test("entries come out in order, and a full ring refuses instead of overwriting", () => {
  const { producer, consumer } = pair(4);
  for (let i = 0; i < 4; i++) assert.equal(push(producer, 100 + i), true);
  assert.equal(push(producer, 999), false, "the fifth push into 4 slots is refused");
  assert.equal(producer.stats.stalls, 1);
  assert.equal(producer.pending(), 4);
  assert.equal(pop(consumer), 100);
  assert.equal(push(producer, 104), true, "one release frees one slot");
  assert.deepEqual([pop(consumer), pop(consumer), pop(consumer), pop(consumer)], [
    101,
    102,
    103,
    104,
  ]);
  assert.equal(pop(consumer), undefined);
  assert.equal(consumer.stats.stalls, 1, "the empty peek was counted");
});

Deno.test("a batch is invisible until one publish, which makes all of it visible", () => {
  const { producer, consumer } = pair(16, 4);
  const k = producer.reserve(10);
  assert.equal(k, 10);
  for (let i = 0; i < k; i++) {
    const offset = producer.slot(i);
    producer.words[offset] = i;
    producer.floats[(offset >> 1) + 1] = i + 0.25;
  }
  assert.equal(consumer.peek(16), 0, "nothing is visible before publish");
  const hopsBefore = crossings.snapshot().thread_hop;
  producer.publish(k);
  const hopsAfter = crossings.snapshot().thread_hop;
  assert.equal(hopsAfter.count - hopsBefore.count, 1, "one batch, one counted thread hop");
  assert.equal(hopsAfter.bytes - hopsBefore.bytes, 10 * 16);
  assert.equal(hopsAfter.copies - hopsBefore.copies, 0);
  assert.equal(producer.stats.batches, 1);
  assert.equal(consumer.peek(16), 10);
  for (let i = 0; i < 10; i++) {
    const offset = consumer.entry(i);
    assert.equal(consumer.words[offset], i);
    assert.equal(consumer.floats[(offset >> 1) + 1], i + 0.25);
  }
  consumer.release(10);
  assert.equal(consumer.stats.batches, 1);
  assert.equal(producer.reserve(100), 16, "reserve gives at most the capacity");
  assert.throws(() => consumer.release(1), /release at most the peeked entries/);
});

Deno.test("head and tail wrap past 2^31 and 2^32 without losing or reordering entries", () => {
  for (const start of [0x7ffffff0 | 0, 0xfffffff0 | 0, -1]) {
    const { producer, consumer } = pair(8, 2, start);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 20; round++) {
      while (push(producer, next)) next++;
      assert.equal(producer.pending(), 8);
      for (let j = 0; j < 5; j++) assert.equal(pop(consumer), expected++);
    }
    while (expected < next) assert.equal(pop(consumer), expected++);
    assert.equal(pop(consumer), undefined);
    assert.ok(next > 100, "the counters went well past the wrap point");
  }
});

Deno.test("random interleavings of batched pushes and pops match a queue model", () => {
  const rng = new Rng(0x5eed);
  const { producer, consumer } = pair(32, 2, 0x7fffff00 | 0);
  const model: number[] = [];
  let next = 0;
  for (let step = 0; step < 20_000; step++) {
    if (rng.nextInt(2) === 0) {
      const wanted = 1 + rng.nextInt(40);
      const k = producer.reserve(wanted);
      assert.equal(k, Math.min(wanted, 32 - model.length));
      for (let i = 0; i < k; i++) {
        const offset = producer.slot(i);
        producer.words[offset] = next;
        producer.words[offset + 1] = ~next;
        model.push(next++);
      }
      producer.publish(k);
    } else {
      const wanted = 1 + rng.nextInt(40);
      const k = consumer.peek(wanted);
      assert.equal(k, Math.min(wanted, model.length));
      for (let i = 0; i < k; i++) {
        const offset = consumer.entry(i);
        assert.equal(consumer.words[offset], model.shift());
        assert.equal(consumer.words[offset + 1], ~consumer.words[offset]!);
      }
      consumer.release(k);
    }
  }
});

Deno.test("an awake consumer gets no notify; a sleeping one is woken by the next publish", async () => {
  const { producer, consumer } = pair(4);
  push(producer, 1);
  assert.equal(producer.stats.wakesSent, 0, "no one sleeps: no notify");
  assert.equal(await consumer.waitForEntriesAsync(1_000), "ready");
  assert.equal(consumer.stats.sleeps, 0, "entries were there: it did not sleep");
  pop(consumer);
  assert.equal(await consumer.waitForEntriesAsync(5), "timed-out");
  const waiting = consumer.waitForEntriesAsync(10_000);
  setTimeout(() => push(producer, 2), 1);
  assert.equal(await waiting, "ready");
  assert.equal(producer.stats.wakesSent, 1, "the sleeping consumer was notified once");
  assert.equal(pop(consumer), 2);
  push(producer, 3);
  assert.equal(producer.stats.wakesSent, 1, "the consumer cleared its flag on waking");
});

Deno.test("a producer waiting for space on a full ring resumes after a release", async () => {
  const { producer, consumer } = pair(2);
  push(producer, 1);
  push(producer, 2);
  assert.equal(await producer.waitForSpaceAsync(5), "timed-out");
  const waiting = producer.waitForSpaceAsync(10_000);
  setTimeout(() => pop(consumer), 1);
  assert.equal(await waiting, "ready");
  assert.equal(consumer.stats.wakesSent, 1);
  assert.equal(push(producer, 3), true);
  assert.deepEqual([pop(consumer), pop(consumer)], [2, 3]);
});
