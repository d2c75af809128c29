/*
 * transform_chain.c: what one listener applies: registered transforms,
 * each set up with its own parameters, run in order on every message.
 * Steps that leave the bytes alone (echo) are not kept, so an echo
 * listener's chain is empty and costs nothing per message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transform.h"

struct transform_chain *
transform_chain_new(void)
{
	return calloc(1, sizeof(struct transform_chain));
}

/* Append "name(p=v, ...)" to the chain's name for the logs. */
static int
chain_name_append(struct transform_chain *chain, const char *name,
    const struct echod_param *params, size_t nparams)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return -1;
	if (chain->name != NULL)
		fprintf(fp, "%s, ", chain->name);
	fputs(name, fp);
	for (i = 0; i < nparams; i++) {
		fprintf(fp, "%s%s=", i == 0 ? "(" : ", ", params[i].name);
		if (params[i].type == ECHOD_PARAM_STRING)
			fprintf(fp, "\"%s\"", params[i].string);
		else if (params[i].type == ECHOD_PARAM_BOOL)
			fputs(params[i].number ? "true" : "false", fp);
		else
			fprintf(fp, "%lld", params[i].number);
	}
	if (nparams > 0)
		fputc(')', fp);
	if (fclose(fp) != 0) {
		free(text);
		return -1;
	}
	free(chain->name);
	chain->name = text;
	return 0;
}

int
transform_chain_add(struct transform_chain *chain,
    const struct transform_entry *e, const struct echod_param *params,
    size_t nparams, char *err, size_t errlen)
{
	const struct echod_transform *def = e->def;
	struct transform_step *steps;
	void *state = NULL;

	if (def->init == NULL && nparams > 0) {
		snprintf(err, errlen, "%s takes no parameters (\"%s\" given)",
		    def->name, params[0].name);
		return -1;
	}
	err[0] = '\0';
	if (def->init != NULL &&
	    def->init(&state, params, nparams, err, errlen) == -1) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s refused its parameters",
			    def->name);
		return -1;
	}
	if (chain_name_append(chain, def->name, params, nparams) == -1)
		goto oom;
	if (def->kind == ECHOD_TRANSFORM_MESSAGE && chain->message == NULL)
		chain->message = def;
	if (def->apply == NULL) {
		if (def->fini != NULL)
			def->fini(state);
		return 0;
	}
	steps = reallocarray(chain->steps, chain->nsteps + 1, sizeof(*steps));
	if (steps == NULL)
		goto oom;
	chain->steps = steps;
	steps[chain->nsteps].def = def;
	steps[chain->nsteps].state = state;
	chain->nsteps++;
	return 0;
oom:
	if (def->fini != NULL)
		def->fini(state);
	snprintf(err, errlen, "out of memory");
	return -1;
}

void
transform_chain_free(struct transform_chain *chain)
{
	size_t i;

	if (chain == NULL)
		return;
	for (i = chain->nsteps; i-- > 0;)
		if (chain->steps[i].def->fini != NULL)
			chain->steps[i].def->fini(chain->steps[i].state);
	free(chain->steps);
	free(chain->name);
	free(chain);
}
