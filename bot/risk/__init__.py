"""Risk checks: values (validation, masking), audit records, the service, the view.

``values`` and ``audit`` are domain, ``service`` is a service, ``view`` is
presentation; only ``view`` speaks aiogram.
"""
