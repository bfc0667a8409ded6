"""Alembic's environment for the clinic database: the URL comes from the caller
(`neurorehab.web.db.upgrade`), never from a file."""

from alembic import context

from neurorehab.web.db import Base, make_engine

config = context.config
url = str(config.attributes.get("url") or config.get_main_option("sqlalchemy.url"))


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as con:
        context.configure(connection=con, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
