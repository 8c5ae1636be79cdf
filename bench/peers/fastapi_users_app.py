"""Peer: fastapi-users' documented SQLAlchemy + JWT setup, as its "Full example" page builds it.

Runs in the peers' own environment (``bench/.peers-venv``, ``bench/peers/requirements.txt``),
never the product's. What follows the documentation's files (``db.py``, ``schemas.py``,
``users.py``, ``app.py``), gathered in one module; the only departures:

- PostgreSQL through asyncpg (the page's SQLite URL is for the tutorial; its SQLAlchemy page
  gives the PostgreSQL form) on the bench's database, ``BENCH_PEER_DATABASE_URL``; the table
  is fastapi-users' own ``user``, created at start as the example does;
- the secret comes from ``BENCH_PEER_SECRET`` instead of a constant;
- the user manager's hooks print nothing (the example prints on register and forgot-password,
  which the bench does not measure);
- ``GET /health/live`` answering ``{"status": "ok"}``, for the same request as Gatehouse's probe;
- served as every target is (``bench/targets/serving.py``).

Measured: ``GET /health/live``, ``GET /users/me`` (the users router's current user: HS256 JWT
checked, the user read by id through the ORM) and ``POST /auth/jwt/login`` (form fields
``username`` and ``password``; the default password hash, Argon2 through pwdlib).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from bench.targets.serving import parse_args, pin_to, serve

# ---------------------------------------------------------------- db.py


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


def build_app(database_url: str, secret: str) -> FastAPI:
    engine = create_async_engine(database_url)
    async_session_maker = async_sessionmaker(engine, expire_on_commit=False)

    async def create_db_and_tables() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def get_async_session() -> AsyncGenerator[AsyncSession, None]:
        async with async_session_maker() as session:
            yield session

    async def get_user_db(
        session: AsyncSession = Depends(get_async_session),  # noqa: B008 - FastAPI's idiom
    ) -> AsyncGenerator[SQLAlchemyUserDatabase[User, uuid.UUID], None]:
        yield SQLAlchemyUserDatabase(session, User)

    # ------------------------------------------------------------ users.py

    class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
        reset_password_token_secret = secret
        verification_token_secret = secret

    async def get_user_manager(
        user_db: SQLAlchemyUserDatabase[User, uuid.UUID] = Depends(get_user_db),  # noqa: B008
    ) -> AsyncGenerator[UserManager, None]:
        yield UserManager(user_db)

    bearer_transport = BearerTransport(tokenUrl="auth/jwt/login")

    def get_jwt_strategy() -> JWTStrategy[User, uuid.UUID]:
        return JWTStrategy(secret=secret, lifetime_seconds=3600)

    auth_backend = AuthenticationBackend(
        name="jwt", transport=bearer_transport, get_strategy=get_jwt_strategy
    )
    fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])

    # ------------------------------------------------------------ app.py

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await create_db_and_tables()
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(
        fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt", tags=["auth"]
    )
    app.include_router(
        fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth", tags=["auth"]
    )
    app.include_router(fastapi_users.get_reset_password_router(), prefix="/auth", tags=["auth"])
    app.include_router(fastapi_users.get_verify_router(UserRead), prefix="/auth", tags=["auth"])
    app.include_router(
        fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users", tags=["users"]
    )

    @app.get("/health/live")
    async def live() -> dict[str, Any]:
        return {"status": "ok"}

    return app


# ---------------------------------------------------------------- schemas.py


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


def main() -> None:
    args = parse_args(__doc__ or "")
    pin_to(args.cpu)
    serve(
        build_app(os.environ["BENCH_PEER_DATABASE_URL"], os.environ["BENCH_PEER_SECRET"]), args.port
    )


if __name__ == "__main__":
    main()
