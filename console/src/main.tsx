// Entry point: styles get this response's CSP nonce before anything is rendered, then the app mounts.
import { applyStyleNonce } from './style-nonce';
import { startApp } from './app';
import { registerFirstPageIcons } from './first-page-icons';

applyStyleNonce();
registerFirstPageIcons();
startApp(document.getElementById('root')!);
