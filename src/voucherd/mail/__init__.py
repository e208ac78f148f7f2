"""Mail: gift vouchers and discount codes sent to their recipients, by the worker, over SMTP."""
