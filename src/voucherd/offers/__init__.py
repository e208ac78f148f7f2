"""What a code offers: its discount (its own offer over its campaign's), whether it can be used
now and why not, and the discount on an amount. Pure rules: redemptions, vouchers and the pages
read them; they import nothing of those."""
