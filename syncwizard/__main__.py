from syncwizard.cli import main

raise SystemExit(main())
