// nginx as a download baseline: what a platform team would put in front of a folder of zips.
// Debian's packaged nginx (`apt-get install -y nginx`), started as a throwaway instance on loopback
// with the packaged nginx.conf's settings (sendfile on, tcp_nopush on, worker_processes auto,
// worker_connections 768, access log on), but every path (pid, logs, lock, temp dirs) inside a
// temporary prefix of its own, so nothing is left under /run, /var/log or /var/lib. It serves the
// plain baseline's data directory, so both baselines send the very same file.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, makeTempDir, startServer, type ServerProcess } from './process.js';

/** Where Debian's package puts the binary; EXTREPO_BENCH_NGINX overrides it. */
const DEFAULT_NGINX = '/usr/sbin/nginx';

/** What to tell someone whose machine has no nginx. */
export const NGINX_MISSING =
  'nginx not found (looked for EXTREPO_BENCH_NGINX or /usr/sbin/nginx): install it with `apt-get install -y nginx` ' +
  "to get the nginx rows; the package's own service is not needed (the bench starts its own instance)";

export function findNginx(): string | null {
  const configured = process.env.EXTREPO_BENCH_NGINX;
  if (configured) return existsSync(configured) ? configured : null;
  return existsSync(DEFAULT_NGINX) ? DEFAULT_NGINX : null;
}

/** The packaged defaults of Debian 12's /etc/nginx/nginx.conf, with every path moved into `prefix`. */
export function nginxConf(prefix: string, port: number, filesDir: string): string {
  // Run as root, nginx would switch its workers to www-data, which cannot enter the bench's 0700
  // temp dirs: keep them the bench's own user instead (as a non-root user the directive is ignored).
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  const p = (name: string) => path.join(prefix, name);
  return `# Written by extrepo's bench (bench/nginx.ts); removed with its temp dir.
${user}worker_processes auto;
daemon off;
pid ${p('nginx.pid')};
lock_file ${p('nginx.lock')};
error_log ${p('error.log')};
events {
\tworker_connections 768;
}
http {
\tsendfile on;
\ttcp_nopush on;
\ttypes_hash_max_size 2048;
\tinclude /etc/nginx/mime.types;
\tdefault_type application/octet-stream;
\taccess_log ${p('access.log')};
\tgzip on;
\tclient_body_temp_path ${p('client_body')};
\tproxy_temp_path ${p('proxy')};
\tfastcgi_temp_path ${p('fastcgi')};
\tuwsgi_temp_path ${p('uwsgi')};
\tscgi_temp_path ${p('scgi')};
\tserver {
\t\tlisten 127.0.0.1:${port};
\t\tlocation = /healthz { return 200 "ok\\n"; }
\t\tlocation /files/ { alias ${filesDir.replace(/\/?$/, '/')}; }
\t}
}
`;
}

export interface Nginx {
  server: ServerProcess;
  /** URL of a file of `filesDir` by name. */
  fileUrl(name: string): string;
}

/** Starts nginx serving `filesDir` under /files/; null (and `reason`) when nginx is not installed. */
export async function startNginx(
  filesDir: string,
  parentDir: string,
  echo: boolean,
): Promise<{ nginx: Nginx; reason?: undefined } | { nginx: null; reason: string }> {
  const binary = findNginx();
  if (binary === null) return { nginx: null, reason: NGINX_MISSING };
  const prefix = await makeTempDir('nginx-', parentDir);
  const port = await freePort();
  const conf = path.join(prefix, 'nginx.conf');
  await writeFile(conf, nginxConf(prefix, port, filesDir));
  // -e: errors before the conf is read go to the prefix too, not to the compiled-in path.
  const server = await startServer({
    name: 'nginx',
    command: binary,
    args: ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')],
    port,
    echo,
    timeoutMs: 20_000,
  });
  return { nginx: { server, fileUrl: (name) => `${server.baseUrl}/files/${name}` } };
}
