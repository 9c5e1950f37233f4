"""Mechanisms every module uses, written once: accounts, authz, audit, workflow, errors, i18n."""
