"""Every module's tables, imported once so that Alembic and tests see the whole schema."""

from zhihui.catalog import models as catalog_models  # noqa: F401
from zhihui.core.accounts import models as accounts_models  # noqa: F401
from zhihui.core.audit import models as audit_models  # noqa: F401
from zhihui.core.workflow import models as workflow_models  # noqa: F401
from zhihui.datastore import models as datastore_models  # noqa: F401
from zhihui.db import Base
from zhihui.exchange import models as exchange_models  # noqa: F401
from zhihui.privacy import models as privacy_models  # noqa: F401
from zhihui.privacy.requests import models as requests_models  # noqa: F401

metadata = Base.metadata
