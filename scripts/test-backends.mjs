// Which backends a test file runs on, as the file itself declares it in one of its first lines:
//
//   // extrepo-test-backends: each | own | none
//
// and the checks that keep the declaration honest. The code patterns below are only a safety net
// against a declaration that contradicts the file; the declaration is what decides.

const DIRECTIVE = /^\/\/ extrepo-test-backends: *(\S+) *$/m;
const CHOICES = ['each', 'own', 'none'];

// Calls that start an extrepo server or open a store.
const STARTS_SERVERS = /\b(startServer|startInstance|buildApp|backendEnv|freshSharedStorage|open\w*Stores?)\(|src\/main\.ts|bench\/run\.ts/;
// Calls whose stores follow EXTREPO_TEST_BACKEND, so the file must run on each backend.
const FOLLOWS_RUN_BACKEND = /\b(startServer|backendEnv|testBackend)\(/;

/** { backends } or { error } for one test file's source. */
export function declaredBackends(file, source) {
  const head = source.split('\n').slice(0, 10).join('\n');
  const match = DIRECTIVE.exec(head);
  if (match === null) {
    return {
      error:
        'no "// extrepo-test-backends: each|own|none" line in its first 10 lines ' +
        '(each: its servers follow EXTREPO_TEST_BACKEND; own: it picks its stores itself; none: no server, no store)',
    };
  }
  const backends = match[1];
  if (!CHOICES.includes(backends)) return { error: `extrepo-test-backends is "${backends}", not one of ${CHOICES.join(', ')}` };
  if (backends === 'none' && STARTS_SERVERS.test(source)) {
    return { error: 'declares "none" but starts servers or opens stores: declare "each" or "own"' };
  }
  if (backends === 'own' && FOLLOWS_RUN_BACKEND.test(source)) {
    return { error: 'declares "own" but uses startServer/backendEnv/testBackend, which follow the run\'s backend: declare "each"' };
  }
  return { backends };
}
