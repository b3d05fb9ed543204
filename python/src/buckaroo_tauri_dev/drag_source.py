#!/usr/bin/python3
"""A GTK3 drag source for one file (text/uri-list), for real XDND drops in E2E tests.

usage: /usr/bin/python3 drag_source.py FILE X Y TIMEOUT_S

Runs on the system Python (python3-gi), not the venv. Prints READY once mapped at
(X, Y), then what the drag does (DRAG-BEGIN, DATA-GET, ACTION, DRAG-END…), and exits
when the drag ends or after TIMEOUT_S, so it never lingers.
"""

import sys
import time
from pathlib import Path

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

T0 = time.monotonic()


def say(*words: object) -> None:
    print(f"{time.monotonic() - T0:.3f}", *words, flush=True)


def main() -> None:
    path, x, y, timeout = Path(sys.argv[1]).resolve(), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    win = Gtk.Window(title="dnd-source")
    win.set_default_size(200, 100)
    win.set_decorated(False)
    win.move(x, y)  # no window manager: the position sticks
    button = Gtk.Button(label=path.name)
    button.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
    button.drag_source_add_uri_targets()
    win.add(button)

    def on_begin(_w, ctx):
        say("DRAG-BEGIN")
        # The target's XdndStatus: the driver releases only once it accepted.
        ctx.connect("action-changed", lambda _c, a: say("ACTION", a.value_nicks))
        ctx.connect("cancel", lambda _c, r: say("CANCEL", r.value_nick))

    def on_data_get(_w, _ctx, selection, _info, _time):
        say("DATA-GET", path.as_uri())
        selection.set_uris([path.as_uri()])

    def on_end(_w, ctx):
        say("DRAG-END", ctx.get_selected_action().value_nicks)
        GLib.timeout_add(200, Gtk.main_quit)

    button.connect("drag-begin", on_begin)
    button.connect("drag-data-get", on_data_get)
    button.connect("drag-failed", lambda _w, _c, r: say("DRAG-FAILED", r.value_nick) or False)
    button.connect("drag-end", on_end)
    win.connect("destroy", Gtk.main_quit)
    win.connect("map-event", lambda *_: GLib.timeout_add(100, lambda: say("READY", *win.get_position()) or False))
    GLib.timeout_add(int(timeout * 1000), lambda: say("TIMEOUT") or Gtk.main_quit())
    win.show_all()
    Gtk.main()
    say("EXIT")


if __name__ == "__main__":
    main()
