# The Django side (web and feeds) for docker-compose.yml.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=build DASHBOARDS_VAR_DIR=/tmp/build GRIP_URL=http://pushpin:5561?key=build \
    python manage.py collectstatic --noinput
