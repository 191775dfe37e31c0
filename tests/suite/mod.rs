mod channels;
mod config;
mod registry;
mod routing;
mod run;
mod telegram_text;
