"""The Scaling tab: run a spec on several rank counts and see how it scales (see :mod:`remote.sweep`)."""
