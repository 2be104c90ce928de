// Entry point: styles get this response's CSP nonce before anything is rendered, then the app mounts.
import { applyStyleNonce } from './style-nonce';
import { startApp } from './app';

applyStyleNonce();
startApp(document.getElementById('root')!);
