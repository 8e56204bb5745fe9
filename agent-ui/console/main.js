// The console's entry point: mount the app and unlock audio on the first click (browsers refuse
// sound before a user gesture, and an offer must be able to chime).
import { render } from 'preact';
import { html } from './html.js';
import { App } from './components/App.js';
import { unlockAudio } from './sound.js';

document.addEventListener('pointerdown', unlockAudio, { once: true });
document.addEventListener('keydown', unlockAudio, { once: true });
render(html`<${App} />`, document.getElementById('app'));
