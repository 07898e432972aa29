export interface KvTaskServer {
  run(request: Uint8Array): Promise<Uint8Array>;
}
