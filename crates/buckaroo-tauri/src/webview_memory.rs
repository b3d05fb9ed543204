//! A memory limit for the app's WebKitGTK web processes (Linux).
//!
//! A web process that re-renders buckaroo's widget keeps what each render allocated: its
//! live objects stay small, but WebKit's caches, allocators and collector hold the rest
//! until it feels memory pressure. WebKit only feels pressure past a limit computed from
//! the machine's RAM (3 GB on most), so a window searched all day grows by ~2.4 MB per
//! search (docs/benchmarks.md, "Where the webviews' memory goes"). WebKitGTK's answer is
//! `WebKitMemoryPressureSettings`: a limit past which the web process releases caches,
//! collects and returns memory. It is a construct-only property of the
//! `WebKitWebContext`, which wry creates without it, and Tauri passes none. So
//! [`limit_webview_memory`] wraps the class's GObject constructor: every web context made
//! after it (wry's included) gets the settings, unless its creator set its own.

/// What the web processes are told (WebKitGTK's `WebKitMemoryPressureSettings`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WebviewMemory {
    /// The limit each web process measures itself against, MiB.
    pub limit_mib: u32,
    /// The share of the limit past which the web process releases what it can spare
    /// (caches, a collection).
    pub conservative: f64,
    /// The share past which it releases everything it can, at once.
    pub strict: f64,
    /// How often the web process measures itself.
    pub poll_interval_secs: f64,
}

impl Default for WebviewMemory {
    /// 768 MiB, checked every 30 s (WebKit's own interval). Only the strict release
    /// (past half the limit) stops the growth; the conservative one alone does not. A
    /// window searched all day settles at 600–720 MB RSS, with no more CPU per search than
    /// without a limit. A 512 MiB limit checked every 5 s held it lower (about 390 MB) but
    /// released all the time: 51 % more CPU per search on one window, and a third fewer
    /// row windows served in the soak's hour (docs/benchmarks.md). No kill threshold: a
    /// killed web process is a blank window.
    fn default() -> Self {
        Self {
            limit_mib: 768,
            conservative: 0.33,
            strict: 0.5,
            poll_interval_secs: 30.0,
        }
    }
}

/// Give every WebKitGTK web context made from now on `memory`'s settings. Call it before
/// the first window (before `tauri::Builder::run`); later calls change nothing. On other
/// systems (WebView2, WKWebView) it does nothing: their engines size themselves from
/// system memory pressure.
pub fn limit_webview_memory(memory: WebviewMemory) {
    #[cfg(target_os = "linux")]
    gtk_web_context::install(memory);
    #[cfg(not(target_os = "linux"))]
    let _ = memory;
}

#[cfg(target_os = "linux")]
mod gtk_web_context {
    use super::WebviewMemory;
    use std::ffi::CStr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;
    use webkit2gtk::glib::ffi::GType;
    use webkit2gtk::glib::gobject_ffi::{
        g_type_class_ref, g_value_get_boxed, g_value_set_boxed, GObject, GObjectClass, GObjectConstructParam,
    };
    use webkit2gtk::glib::translate::ToGlibPtr;
    use webkit2gtk::MemoryPressureSettings;

    type Constructor = unsafe extern "C" fn(GType, u32, *mut GObjectConstructParam) -> *mut GObject;

    /// The class's own constructor and the settings given to every context, set once.
    struct Installed {
        original: Constructor,
        settings: MemoryPressureSettings,
    }
    // SAFETY: written once before any window, then only read (on GTK's thread, where
    // contexts are made); MemoryPressureSettings is a plain boxed struct.
    unsafe impl Send for Installed {}
    unsafe impl Sync for Installed {}

    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    /// Contexts given the settings (a context whose creator set its own is not counted).
    pub(super) static LIMITED: AtomicUsize = AtomicUsize::new(0);
    const PROPERTY: &CStr = c"memory-pressure-settings";

    pub(super) fn install(memory: WebviewMemory) {
        let mut settings = MemoryPressureSettings::new();
        settings.set_memory_limit(memory.limit_mib);
        settings.set_conservative_threshold(memory.conservative);
        settings.set_strict_threshold(memory.strict);
        settings.set_poll_interval(memory.poll_interval_secs);
        // SAFETY: the class is referenced for the life of the process (never unref'd),
        // and its constructor slot is swapped once, before any instance exists.
        unsafe {
            let class = g_type_class_ref(webkit2gtk::ffi::webkit_web_context_get_type()) as *mut GObjectClass;
            let Some(original) = (*class).constructor else { return };
            if INSTALLED.set(Installed { original, settings }).is_ok() {
                (*class).constructor = Some(construct);
            }
        }
    }

    /// GLib hands a custom constructor every construct property, defaults filled in, in
    /// values it may change; the settings go into the one left empty.
    unsafe extern "C" fn construct(ty: GType, n: u32, params: *mut GObjectConstructParam) -> *mut GObject {
        let installed = INSTALLED.get().expect("constructor swapped only after INSTALLED is set");
        for i in 0..n as usize {
            let param = &*params.add(i);
            let name = CStr::from_ptr((*param.pspec).name);
            if name == PROPERTY && g_value_get_boxed(param.value).is_null() {
                let ptr: *const webkit2gtk::ffi::WebKitMemoryPressureSettings = installed.settings.to_glib_none().0;
                g_value_set_boxed(param.value, ptr as *const _);
                LIMITED.fetch_add(1, Ordering::Relaxed);
            }
        }
        (installed.original)(ty, n, params)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use webkit2gtk::glib::{self, prelude::StaticType};
    use webkit2gtk::{MemoryPressureSettings, WebContext};

    /// As wry makes one (`g_object_new`), without the bindings' check for GTK's display,
    /// which a unit test has none of.
    fn context(own: Option<&MemoryPressureSettings>) -> glib::Object {
        let builder = glib::Object::builder_with_type(WebContext::static_type());
        match own {
            Some(settings) => builder.property("memory-pressure-settings", settings).build(),
            None => builder.build(),
        }
    }

    fn limited() -> usize {
        gtk_web_context::LIMITED.load(Ordering::Relaxed)
    }

    #[test]
    fn contexts_made_after_the_call_get_the_limit_unless_their_creator_set_one() {
        // A web context needs GTK and a display (make test-rust runs under xvfb-run).
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            eprintln!("skipped: no display to make a WebKit web context on (make test-rust runs under xvfb-run)");
            return;
        }
        gtk::init().expect("GTK on this display");
        let _before = context(None);
        assert_eq!(limited(), 0);
        limit_webview_memory(WebviewMemory {
            limit_mib: 64,
            ..WebviewMemory::default()
        });
        let _first = context(None);
        let _second = context(None);
        assert_eq!(limited(), 2);
        let _own = context(Some(&MemoryPressureSettings::new()));
        assert_eq!(limited(), 2, "a creator's own settings are kept");
        limit_webview_memory(WebviewMemory::default());
        let _again = context(None);
        assert_eq!(limited(), 3, "a second call neither wraps twice nor stops the first");
    }
}
