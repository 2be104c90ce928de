// Prometheus metrics (GET /metrics). Each app gets its own registry so several servers can live in
// one process (tests) without sharing counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ExtensionEvents } from '../../domain/extension-service.js';
import { EXTREPO_VERSION } from '../../version.js';

export interface Metrics {
  registry: Registry;
  events: ExtensionEvents;
  bytesDownloaded: Counter;
  /** Stored data found inconsistent, by kind (e.g. `missing_blob`: a referenced blob is gone). */
  integrityFaults: Counter<'kind'>;
  /** Idle memory trims after transfers (memory/idle-trim.ts), and the resident bytes they gave back. */
  memoryTrims: Counter;
  memoryTrimmedBytes: Counter;
  observeRequest(route: string, method: string, status: number, seconds: number): void;
}

/**
 * `storedFileBytes` answers extrepo_blob_store_bytes: the bytes of the distinct files extensions
 * reference, from the metadata store, the same figure on local disk and on S3 (which cannot be
 * asked for a bucket's size cheaply) and without walking either.
 */
export function createMetrics(storedFileBytes: () => Promise<number>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'extrepo_build_info',
    help: 'Always 1; the labels say which extrepo and Node.js versions run',
    labelNames: ['version', 'node'] as const,
    registers: [registry],
  }).set({ version: EXTREPO_VERSION, node: process.versions.node }, 1);
  const requests = new Counter({
    name: 'extrepo_http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'extrepo_http_request_duration_seconds',
    help: 'HTTP request latency by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const bytesUploaded = new Counter({
    name: 'extrepo_uploaded_bytes_total',
    help: 'Bytes of extension files stored (uploads and download_url copies)',
    registers: [registry],
  });
  const bytesDownloaded = new Counter({
    name: 'extrepo_downloaded_bytes_total',
    help: 'Body bytes of extension files handed to the connection by file-link downloads, complete or aborted',
    registers: [registry],
  });
  const integrityFaults = new Counter({
    name: 'extrepo_integrity_faults_total',
    help: 'Stored data found inconsistent (a referenced blob missing from the file store), by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const memoryTrims = new Counter({
    name: 'extrepo_memory_trims_total',
    help: 'Full garbage collections and malloc trims run once the server was idle after transfers',
    registers: [registry],
  });
  const memoryTrimmedBytes = new Counter({
    name: 'extrepo_memory_trimmed_bytes_total',
    help: 'Resident memory given back to the kernel by the idle trims',
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'extrepo_archive_rejections_total',
    help: 'Archives rejected by validation, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const downloads = new Counter({
    name: 'extrepo_download_url_total',
    help: 'download_url fetches by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'extrepo_blob_store_bytes',
    help: 'Bytes of the distinct extension files stored (each file counted once, however many extensions share it)',
    registers: [registry],
    async collect() {
      this.set(await storedFileBytes());
    },
  });
  return {
    registry,
    bytesDownloaded,
    integrityFaults,
    memoryTrims,
    memoryTrimmedBytes,
    observeRequest(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      latency.observe({ route, method }, seconds);
    },
    events: {
      archiveRejected: (reason) => rejections.inc({ reason }),
      downloadFinished: (outcome) => downloads.inc({ outcome }),
      bytesStored: (bytes) => bytesUploaded.inc(bytes),
    },
  };
}
