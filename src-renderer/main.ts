/** Renderer entry: builds the API for this page (preload bridge or HTTP) and mounts the app. */
import { mount } from 'svelte';
import App from './App.svelte';
import { createApi } from './lib/api';
import './app.css';

mount(App, { target: document.getElementById('app')!, props: { api: createApi(window) } });
