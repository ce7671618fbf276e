"""``python -m infra.template`` writes template.yaml; ``--check`` fails when it is out of date."""

from infra.template.document import main

raise SystemExit(main())
