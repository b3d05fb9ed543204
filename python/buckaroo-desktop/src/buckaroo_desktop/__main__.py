from buckaroo_desktop.cli import main

raise SystemExit(main())
