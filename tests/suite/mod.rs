mod channels;
mod config;
mod routing;
mod run;
mod telegram_text;
