/*
 * Security alert publication (see alerts.h): one XADD per alert on the command connection,
 * whose reply only feeds a counter, and one webhook delivery per configured URL.
 */
#include "alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmetrics.h"
#include "log.h"
#include "webhook.h"

static struct webhook *alerts_webhook;

void alerts_init(struct coord *co)
{
    const struct config *cfg = co->cfg;
    struct webhook_opts o;
    if (cfg->nalert_webhooks == 0 || alerts_webhook != NULL) return;
    o.timeout_ms = cfg->alert_webhook_timeout_ms;
    o.max_tries = cfg->alert_webhook_max_tries;
    o.backoff_ms = cfg->alert_webhook_backoff_ms;
    o.queue_max = cfg->alert_webhook_queue_max;
    alerts_webhook = webhook_new(co->base, &o);
    if (alerts_webhook == NULL)
        log_error("alerts: cannot initialize libcurl; webhooks disabled");
}

void alerts_shutdown(void)
{
    webhook_free(alerts_webhook);
    alerts_webhook = NULL;
}

/* called by redis_client with the alert XADD reply */
static void alerts_xadd_cb(void *arg, redisReply *reply, const char *errstr)
{
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        log_warn("alerts: XADD to the alerts stream failed: %s", reply ? reply->str : errstr);
        cmetrics_alert("stream_failed");
        return;
    }
    cmetrics_alert("published");
}

void alerts_raise(struct coord *co, const json_t *alert)
{
    const struct config *cfg = co->cfg;
    char key[KEYS_MAX], maxlen[24];
    char *text = json_dumps(alert, JSON_COMPACT);

    if (text == NULL) return;
    keys_alerts(key, sizeof(key), cfg->key_prefix);
    snprintf(maxlen, sizeof(maxlen), "%d", cfg->alerts_stream_maxlen);
    redis_client_command(co->cmd, alerts_xadd_cb, NULL, 0, "XADD %s MAXLEN ~ %s * a %s", key,
                         maxlen, text);
    for (int i = 0; alerts_webhook != NULL && i < cfg->nalert_webhooks; i++)
        webhook_post(alerts_webhook, cfg->alert_webhooks[i], text);
    free(text);
}
