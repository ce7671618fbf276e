"""``python -m infra.template`` writes template.yaml; ``--check`` fails when it is out of date."""

from infra.template import main

raise SystemExit(main())
