/**
 * A worker that answers every message with the same message: the far end of the message-hop
 * round trip in crossings_suite.ts.
 */
/// <reference lib="deno.worker" />
self.onmessage = (event: MessageEvent) => self.postMessage(event.data);
