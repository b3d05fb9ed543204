import { invoke } from "@tauri-apps/api/core";
const el = document.getElementById("app")!;
invoke("plugin:buckaroo-tauri|buckaroo_health").then((h) => { el.textContent = JSON.stringify(h); });
