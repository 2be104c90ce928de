// EUI's internal @emotion/css instance (see style-nonce.ts); eui.d.ts types it under src/ only.
declare module '@elastic/eui/es/services/emotion/css' {
  import type { EmotionCache } from '@emotion/cache';
  export const cache: EmotionCache;
}

// EUI's icon cache and icon assets, for the icons registered up front (first-page-icons.ts).
declare module '@elastic/eui/es/components/icon/icon' {
  export { appendIconComponentCache } from '@elastic/eui/src/components/icon/icon';
}
declare module '@elastic/eui/es/components/icon/assets/*' {
  import type { ComponentType, SVGProps } from 'react';
  export const icon: ComponentType<SVGProps<SVGSVGElement> & { title?: string; titleId?: string }>;
}
