from voucherd.db.engine import Database, get_database, set_database
from voucherd.db.session import unit_of_work

__all__ = ["Database", "get_database", "set_database", "unit_of_work"]
