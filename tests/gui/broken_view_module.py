"""A view module whose own import fails: the view registry must not hide this."""

import scalelab_module_that_does_not_exist  # noqa: F401
