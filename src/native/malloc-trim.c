// One function for the server's idle memory trim (src/memory/idle-trim.ts): glibc's malloc_trim(0),
// which hands every whole free page of malloc's heaps back to the kernel, not only the top of the
// heap that free() gives back by itself. Node has no binding for it. Written against Node-API only,
// so one build serves every Node.js version; on a C library other than glibc it does nothing.
#include <stdlib.h>
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#if defined(__GLIBC__)
  released = malloc_trim(0);
#endif
  napi_value result;
  if (napi_get_boolean(env, released != 0, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  return exports;
}
