//! The native menu, one per window: every item id ends in `|<window label>`, so an
//! event names the window it came from (Tauri's menu events do not).

use crate::{recent, windows};
use buckaroo_tauri::BuckarooExt;
use std::path::PathBuf;
use tauri::menu::{Menu, MenuBuilder, MenuItemBuilder, Submenu, SubmenuBuilder};
use tauri::{AppHandle, Emitter, EventTarget, Manager, Runtime};

/// Actions the page carries out (it owns the dialogs, the grid and its errors).
const PAGE_ACTIONS: &[&str] = &[
    "open",
    "open-build",
    "open-database",
    "compare",
    "export",
    "copy-cells",
    "copy-column-name",
    "check-updates",
    "reset-env",
    "about",
];
/// The event the page hears them on.
pub const MENU_EVENT: &str = "app:menu";
/// The event that asks a page to load a file (Open Recent).
pub const OPEN_EVENT: &str = "app:open";
/// The event that asks a page to open a saved database connection (its id).
pub const OPEN_SAVED_EVENT: &str = "app:open-saved";

fn id(action: &str, label: &str) -> String {
    format!("{action}|{label}")
}

/// `(action, window label)` of a menu item id.
fn parse(item_id: &str) -> Option<(&str, &str)> {
    item_id.rsplit_once('|')
}

/// The menu for window `label`.
pub fn for_window<R: Runtime>(app: &AppHandle<R>, label: &str) -> tauri::Result<Menu<R>> {
    let item = |action: &str, text: &str, keys: Option<&str>| {
        let b = MenuItemBuilder::with_id(id(action, label), text);
        match keys {
            Some(k) => b.accelerator(k).build(app),
            None => b.build(app),
        }
    };
    let recent = SubmenuBuilder::with_id(app, id("recent", label), "Open Recent").build()?;
    fill_recent(&recent, label, &recent::list(app))?;
    let saved = SubmenuBuilder::with_id(app, id("saved-dbs", label), "Saved Connections").build()?;
    fill_saved(&saved, label, &saved_connections(app))?;
    let file = SubmenuBuilder::new(app, "File")
        .item(&item("open", "Open…", Some("CmdOrCtrl+O"))?)
        .item(&recent)
        .item(&item("open-build", "Open xorq build…", Some("CmdOrCtrl+Shift+O"))?)
        .item(&item("open-database", "Open Database…", Some("CmdOrCtrl+Shift+D"))?)
        .item(&saved)
        .item(&item("compare", "Compare with…", None)?)
        .item(&item("export", "Export…", Some("CmdOrCtrl+E"))?)
        .separator()
        .item(&item("new-window", "New Window", Some("CmdOrCtrl+N"))?)
        .item(&item("close-window", "Close Window", Some("CmdOrCtrl+W"))?)
        .separator()
        .item(&item("quit", "Quit", Some("CmdOrCtrl+Q"))?)
        .build()?;
    // No accelerators: Ctrl+C stays the page's (the grid's selection, or the search box's text).
    let edit = SubmenuBuilder::new(app, "Edit")
        .item(&item("copy-cells", "Copy Selected Cells", None)?)
        .item(&item("copy-column-name", "Copy Column Name", None)?)
        .build()?;
    let help = SubmenuBuilder::new(app, "Help")
        .item(&item("check-updates", "Check for Updates…", None)?)
        .item(&item("about", "About buckaroo", None)?)
        .separator()
        // The viewer's own Python environment, set up again (for env_broken).
        .item(&item("reset-env", "Reset Environment", None)?)
        .build()?;
    MenuBuilder::new(app).items(&[&file, &edit, &help]).build()
}

fn fill_recent<R: Runtime>(menu: &Submenu<R>, label: &str, files: &[PathBuf]) -> tauri::Result<()> {
    for old in menu.items()? {
        menu.remove(&old)?;
    }
    let app = menu.app_handle();
    for (i, f) in files.iter().enumerate() {
        menu.append(&MenuItemBuilder::with_id(id(&format!("recent:{i}"), label), f.display().to_string()).build(app)?)?;
    }
    if files.is_empty() {
        menu.append(
            &MenuItemBuilder::with_id(id("recent-none", label), "No recent files")
                .enabled(false)
                .build(app)?,
        )?;
    } else {
        menu.append(&tauri::menu::PredefinedMenuItem::separator(app)?)?;
        menu.append(&MenuItemBuilder::with_id(id("recent-clear", label), "Clear Recent").build(app)?)?;
    }
    Ok(())
}

/// The saved connections, `(id, name)`: the plugin keeps them (no password in them).
fn saved_connections<R: Runtime>(app: &AppHandle<R>) -> Vec<(String, String)> {
    match app.buckaroo().saved_connections() {
        Ok(list) => list.into_iter().map(|s| (s.id, s.name)).collect(),
        Err(e) => {
            log::warn!("saved connections unreadable: {e}");
            Vec::new()
        }
    }
}

fn fill_saved<R: Runtime>(menu: &Submenu<R>, label: &str, saved: &[(String, String)]) -> tauri::Result<()> {
    for old in menu.items()? {
        menu.remove(&old)?;
    }
    let app = menu.app_handle();
    for (saved_id, name) in saved {
        menu.append(&MenuItemBuilder::with_id(id(&format!("saved-db:{saved_id}"), label), name).build(app)?)?;
    }
    if saved.is_empty() {
        let none = MenuItemBuilder::with_id(id("saved-none", label), "No saved connections").enabled(false);
        menu.append(&none.build(app)?)?;
    }
    Ok(())
}

/// Every window's Saved Connections lists what the plugin has saved now.
pub fn refresh_saved<R: Runtime>(app: &AppHandle<R>) {
    let saved = saved_connections(app);
    refill(app, "saved-dbs", |sub, label| fill_saved(sub, label, &saved));
}

/// Refill submenu `key` of every window's menu with `fill`.
fn refill<R: Runtime>(app: &AppHandle<R>, key: &str, fill: impl Fn(&Submenu<R>, &str) -> tauri::Result<()>) {
    for (label, window) in app.webview_windows() {
        let submenu = window
            .menu()
            .and_then(|m| m.get(&id(key, &label)))
            .and_then(|k| k.as_submenu().cloned());
        if let Some(sub) = submenu {
            if let Err(e) = fill(&sub, &label) {
                log::warn!("submenu {key} of {label} not updated: {e}");
            }
        }
    }
}

/// Every window's Open Recent lists `files`.
pub fn refresh_recent<R: Runtime>(app: &AppHandle<R>, files: &[PathBuf]) {
    refill(app, "recent", |sub, label| fill_recent(sub, label, files));
}

/// A menu item was chosen (or its shortcut pressed).
pub fn on_event<R: Runtime>(app: &AppHandle<R>, item_id: &str) {
    let Some((action, label)) = parse(item_id) else { return };
    log::info!("menu: {action} in {label}");
    let result = match action {
        a if PAGE_ACTIONS.contains(&a) => app.emit_to(EventTarget::webview_window(label), MENU_EVENT, a),
        "new-window" => windows::open(app, None, &Default::default()).map(drop),
        "close-window" => app.get_webview_window(label).map_or(Ok(()), |w| w.close()),
        "quit" => {
            app.exit(0);
            Ok(())
        }
        "recent-clear" => {
            refresh_recent(app, &recent::clear(app));
            Ok(())
        }
        a => match (
            a.strip_prefix("recent:").and_then(|i| i.parse::<usize>().ok()),
            a.strip_prefix("saved-db:"),
        ) {
            (Some(i), _) => open_recent(app, label, i),
            (None, Some(saved_id)) => app.emit_to(EventTarget::webview_window(label), OPEN_SAVED_EVENT, saved_id),
            _ => Ok(()),
        },
    };
    if let Err(e) = result {
        log::error!("menu action {action} failed: {e}");
    }
}

/// The `i`th recent file, in the window it was chosen from.
fn open_recent<R: Runtime>(app: &AppHandle<R>, label: &str, i: usize) -> tauri::Result<()> {
    let Some(path) = recent::list(app).into_iter().nth(i) else {
        return Ok(());
    };
    windows::allow(app, &path);
    app.emit_to(EventTarget::webview_window(label), OPEN_EVENT, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_id_names_its_action_and_window() {
        assert_eq!(parse(&id("recent:3", "w-2")), Some(("recent:3", "w-2")));
        assert_eq!(parse(&id("open", "main")), Some(("open", "main")));
        assert_eq!(parse(&id("saved-db:s1a2", "main")), Some(("saved-db:s1a2", "main")));
        assert_eq!(parse("quit"), None);
    }
}
