// EUI's internal @emotion/css instance (see style-nonce.ts); eui.d.ts types it under src/ only.
declare module '@elastic/eui/es/services/emotion/css' {
  import type { EmotionCache } from '@emotion/cache';
  export const cache: EmotionCache;
}
