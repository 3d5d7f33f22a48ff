"""Risk checks: values (validation, masking), audit records, what checks keep in
the store (budget, figures, repeat cache), the service, the view.

``values``, ``audit`` and ``storage`` are domain, ``service`` is a service,
``view`` is presentation; only ``view`` speaks aiogram.
"""
